"""python3 -m qeq report MODEL ... (qeq.report) and python3 -m qeq run MODEL ... (qeq.run)."""
import sys

__all__ = ["main"]

_USAGE = ("usage: python3 -m qeq report MODEL [options]  (what equalization does to a model's "
          "weights)\n       python3 -m qeq run MODEL [options]     (a quantized model on qeq "
          "beside PyTorch)\n       add -h after the command for its options")


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] in ("-h", "--help", "help"):
        print(_USAGE)
        return 0
    if len(sys.argv) < 2 or sys.argv[1] not in ("report", "run"):
        print(_USAGE, file=sys.stderr)
        return 2
    if sys.argv[1] == "report":
        from .report import main as report_main
        return report_main(sys.argv[2:])
    from .run import main as run_main
    return run_main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
