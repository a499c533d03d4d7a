"""What every stage stands on: jobs and their progress, errors a person can act on, atomic
output files, disk space, processes, SQLite files, and llama.cpp's log and load rules.
Imports no other package of this project."""
