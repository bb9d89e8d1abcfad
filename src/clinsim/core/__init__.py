"""Shared engine: parameters, integration, task/env adapters, registration, evaluation."""
