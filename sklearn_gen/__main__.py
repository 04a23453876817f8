"""Run the ``sklearn-gen`` command line as ``python -m sklearn_gen``."""

from sklearn_gen.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
