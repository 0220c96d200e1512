"""Command line: ``python -m laplace_fast demo`` (or ``laplace-fast demo``)."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="laplace-fast", description="laplace_fast: fast Laplace approximations")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="reproduce the seed article's Laplace examples")
    demo.add_argument("--plot", default="laplace_demo.png", metavar="PATH",
                      help="where to save the figure (default: %(default)s)")
    demo.add_argument("--no-plot", action="store_true", help="skip the figure")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo
        run_demo(plot_path=args.plot, make_plot=not args.no_plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
