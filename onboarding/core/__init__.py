"""The pure core: blueprint models, checks, graph, calendars, payroll, launch windows, planning.

Nothing here does I/O or reads the clock; ``today`` and every input are passed in.
"""
