import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", "..", "src"))
APPS = os.path.join(HERE, "apps")

for path in (APPS, SRC):
    if path not in sys.path:
        sys.path.insert(0, path)
