"""``python -m onboarding.cli``: the command line, as the ``onboarding`` script runs it."""

from onboarding.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
