"""Onboarding project orchestration: blueprints compile to dated plans with payroll-safe launch windows."""

__version__ = "0.1.0"
