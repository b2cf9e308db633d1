#!/usr/bin/env python3
"""Start the WECC gateway: python run.py [--config PATH]"""

import sys

from gateway.cli import main

if __name__ == "__main__":
    sys.exit(main())
