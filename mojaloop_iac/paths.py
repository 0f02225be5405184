"""Where the toolkit's data lives: the repository root holds config/, stacks/ and the Pulumi program."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "config"
STACKS_DIR = REPO_ROOT / "stacks"
PLAYBOOKS_DIR = REPO_ROOT / "playbooks"
PROGRAM = REPO_ROOT / "__main__.py"
