"""Prefect flows: parameters -> bootstrap -> one service call. The ``onboarding`` package never imports Prefect."""
