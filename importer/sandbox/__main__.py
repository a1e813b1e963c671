"""``python -m importer.sandbox``: the sandbox server on its own, with the same flags."""

import argparse
import sys

from importer.sandbox import cli

parser = argparse.ArgumentParser(prog="python -m importer.sandbox", description=__doc__)
cli.add_arguments(parser)
sys.exit(cli.run(parser.parse_args()))
