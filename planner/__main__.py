"""`python -m planner` runs the command line, as the `planner` script does."""
from planner.cli import main

main()
