"""``benchmarks/supernet_sharing.py --space nb101`` under its earlier name (README commands cite it):

python benchmarks/nb101_sharing.py [--ks 1 2 8] [--designs ...] [--seeds 0 1 2] [--tau [--cells 120]]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from supernet_sharing import main  # noqa: E402

if __name__ == '__main__':
    main(space='nb101')
