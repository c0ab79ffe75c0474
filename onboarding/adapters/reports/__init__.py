"""The managers' report as a page: ``html`` lays out one self-contained HTML file, ``charts`` draws its SVG charts.

The figures come from ``core/ttfv.py`` and ``core/portfolio.py`` and are written as ``core/report_view.py``
says; nothing here computes a figure or reads the database.
"""
