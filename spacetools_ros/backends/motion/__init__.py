"""Motion backends: the embedded planner and MoveItPy."""
