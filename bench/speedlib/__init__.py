"""The parts of bench/speed.py, one module per thing it measures, with their shared helpers in common."""
