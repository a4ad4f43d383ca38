"""python3 -m qeq report MODEL ...: see qeq.report."""
import sys

__all__ = ["main"]


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] != "report":
        print("usage: python3 -m qeq report MODEL [options]  (python3 -m qeq report -h)",
              file=sys.stderr)
        return 2
    from .report import main as report_main
    return report_main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
