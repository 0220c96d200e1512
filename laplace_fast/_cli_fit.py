"""The command line's data-file subcommands: ``laplace-fast fit`` (one GLM, or one per
group) and ``laplace-fast glmm`` (a mixed model), a formula over a CSV or Parquet file.

The file is read whole (pyarrow's parser when installed: multi-threaded and correctly
rounded, so a CSV written from a frame reads back to the same numbers; pandas'
otherwise), the formula's design matrix built once over all the rows (so
a categorical column has the same levels in every chunk), and a grouped fit then runs a
chunk of groups at a time: each chunk's sorted rows, its fit and its rows of the output
are all that a chunk adds to the memory.  A problem's result does not depend on the batch
it is in, so the chunks' tables are those of one call, bit for bit.

Every user error is a :class:`UserError`, reported by ``main`` as one line and exit
code 2.
"""

import collections
import importlib
import math
import os
import sys
import warnings

import numpy as np

from ._families import lookup
from ._status import LaplaceWarning, Status

__all__ = ["UserError", "add_parsers", "run"]

_CHUNK_GROUPS = 50_000      # groups per chunk of a grouped fit
_PROGRESS_ROWS = 1_000_000  # inputs of at least this many rows show a progress bar
_FORMATS = (".csv", ".parquet", ".pq")


class UserError(Exception):
    """A mistake in the command line or its files: one line for the user."""


def add_parsers(sub):
    """The ``fit`` and ``glmm`` subcommands, on argparse's subparsers ``sub``."""
    common = {"metavar": "DATA", "help": "a .csv or .parquet file with one row per "
                                         "observation"}
    fit = sub.add_parser("fit", help="fit a Bayesian GLM (one per group with --groups) "
                                     "to a data file")
    fit.add_argument("data", **common)
    _model_options(fit)
    fit.add_argument("--groups", metavar="COL",
                     help="the column of group labels: one GLM per group")
    fit.add_argument("--prior-precision", metavar="P", default="1.0",
                     help="the prior precision alpha (prior N(0, I / alpha)), or "
                          "'evidence' to choose it per problem (default: %(default)s)")
    fit.add_argument("--scale", metavar="S",
                     help="gaussian noise sd (a number or 'evidence'; required there)")
    fit.add_argument("--dispersion", metavar="D",
                     help="negative binomial dispersion (a number or 'evidence')")
    fit.add_argument("--chunk-groups", metavar="N", type=int, default=_CHUNK_GROUPS,
                     help="groups fitted per chunk, which bounds the memory of the fit "
                          "(default: %(default)s)")
    glmm = sub.add_parser("glmm", help="fit a generalised linear mixed model, "
                                       "lme4's formula syntax, to a data file")
    glmm.add_argument("data", **common)
    _model_options(glmm)


def _model_options(parser):
    parser.add_argument("--formula", required=True, metavar="F",
                        help="the model, e.g. 'y ~ x1 + x2' (glmm: 'y ~ x + (1 + x | g)')")
    parser.add_argument("--family", default="logistic", metavar="FAM",
                        help="logistic, probit, poisson, binomial, negative_binomial or "
                             "gaussian (default: %(default)s)")
    parser.add_argument("--out", metavar="OUT",
                        help="write the tidy result table to this .csv or .parquet file "
                             "(default: print a summary)")
    for name, what in (("offset", "a known part of the linear predictor"),
                       ("weights", "observation weights"),
                       ("trials", "binomial trials (or write cbind(successes, failures) "
                                  "as the response)")):
        parser.add_argument(f"--{name}", metavar="COL", help=f"the column of {what}")


def _extension(path, what):
    ext = os.path.splitext(path)[1].lower()
    if ext not in _FORMATS:
        raise UserError(f"{what} {path!r}: cannot tell the format from {ext or 'no'} "
                        "extension; use .csv or .parquet")
    return ext


def _pandas():
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise UserError("reading data files needs pandas: pip install "
                        "laplace-fast[io]") from None


def read_table(path):
    """The file ``path`` (CSV or Parquet, by extension) as a pandas DataFrame."""
    ext = _extension(path, "DATA")
    if not os.path.isfile(path):
        raise UserError(f"DATA {path!r}: no such file")
    pd = _pandas()
    try:
        if ext == ".csv":
            try:
                from pyarrow import csv
            except ImportError:
                return pd.read_csv(path)
            # an empty field is missing, as pandas reads it
            return csv.read_csv(path, convert_options=csv.ConvertOptions(
                strings_can_be_null=True)).to_pandas()
        try:
            from pyarrow import parquet
        except ImportError:
            raise UserError("Parquet files need pyarrow: pip install "
                            "laplace-fast[io]") from None
        return parquet.read_table(path).to_pandas()
    except UserError:
        raise
    except Exception as exc:        # the parsers' errors have no common base
        raise UserError(f"DATA {path!r} cannot be read: {_one_line(exc)}") from None


def _one_line(exc):
    return " ".join(str(exc).split())


class _Writer:
    """The output table, written chunk by chunk (CSV appended, Parquet row groups)."""

    def __init__(self, path):
        self.path, self.ext, self.parquet = path, _extension(path, "OUT"), None
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise UserError(f"OUT {path!r}: the folder {folder!r} does not exist")
        self.first = True

    def write(self, frame):
        try:
            if self.ext == ".csv":
                frame.to_csv(self.path, mode="w" if self.first else "a",
                             header=self.first, index=False)
            else:
                import pyarrow as pa
                from pyarrow import parquet
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if self.parquet is None:
                    self.parquet = parquet.ParquetWriter(self.path, table.schema)
                self.parquet.write_table(table)
        except ImportError:
            raise UserError("Parquet files need pyarrow: pip install "
                            "laplace-fast[io]") from None
        except OSError as exc:
            raise UserError(f"OUT {self.path!r}: {_one_line(exc)}") from None
        self.first = False

    def close(self):
        if self.parquet is not None:
            self.parquet.close()


def _progress(total, rows):
    """A tqdm bar over ``total`` groups on stderr for a large input on a terminal, or
    None (no tqdm, a small input, or stderr not a terminal)."""
    if rows < _PROGRESS_ROWS or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="group", file=sys.stderr, desc="laplace-fast fit")


def _number_or_evidence(text, name):
    if text is None or text == "evidence":
        return text
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{name} must be a number or 'evidence', got {text!r}") from None
    if not math.isfinite(value):
        raise UserError(f"{name} must be finite, got {text!r}")
    return value


def _columns(args):
    return {"offset": args.offset, "weights": args.weights, "trials": args.trials}


def _fit(args):
    from ._glm import glm_laplace
    from ._formula import glm_arrays
    if args.chunk_groups < 1:
        raise UserError(f"--chunk-groups must be a positive integer, got "
                        f"{args.chunk_groups}")
    options = {"family": args.family,
               "prior_precision": _number_or_evidence(args.prior_precision,
                                                      "--prior-precision"),
               "scale": _number_or_evidence(args.scale, "--scale"),
               "dispersion": _number_or_evidence(args.dispersion, "--dispersion")}
    writer = _Writer(args.out) if args.out else None
    df = read_table(args.data)
    X, y, keywords = glm_arrays(args.formula, df, groups=args.groups,
                                family=args.family, **_columns(args))
    del df
    groups = keywords.pop("groups")
    if groups is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LaplaceWarning)     # told once, below
            res = glm_laplace(X, y, **keywords, **options)
        frames = [res.to_dataframe()]
    else:
        res, frames = None, _chunks(X, y, groups, keywords, options, args.chunk_groups)
    statuses = collections.Counter()
    kept = []
    for frame in frames:
        statuses.update(frame.status.to_numpy()[::len(X.columns) or 1].tolist())
        if writer is not None:
            writer.write(frame)
        else:
            kept.append(frame)
    if writer is not None:
        writer.close()
    else:
        _print_fit(res, kept, statuses, args, len(y))
    bad = sum(n for k, n in statuses.items() if k != 0)
    if bad:
        counts = ", ".join(f"{n} with {int(k)} ({Status(int(k)).name})"
                           for k, n in sorted(statuses.items()) if k != 0)
        print(f"laplace-fast: note: {bad} of {sum(statuses.values())} problems have a "
              f"non-zero status: {counts} (the status column; see help(lf.Status))",
              file=sys.stderr)


def _chunks(X, y, groups, keywords, options, per_chunk):
    """The table of each chunk of ``per_chunk`` groups, in sorted label order.  The
    labels are replaced by their codes (pandas' factorize: a hash, then integers to
    sort, where sorting strings would cost more than the fits) and put back in the
    tables."""
    from ._glm import glm_laplace
    pd, Xv = _pandas(), X.to_numpy()
    codes, labels = pd.factorize(np.asarray(groups), sort=True)
    order = np.argsort(codes, kind="stable")
    ends = np.cumsum(np.bincount(codes, minlength=len(labels)))
    bar = _progress(len(labels), y.size)
    try:
        for first in range(0, len(labels), per_chunk):
            last = min(first + per_chunk, len(labels))
            # the chunk's rows grouped, each group's in input order: the order the fit
            # sorts them into, so its stable sort finds them sorted
            rows = order[(ends[first - 1] if first else 0):ends[last - 1]]
            part = {k: (None if v is None or np.ndim(v) == 0 else np.asarray(v)[rows])
                    for k, v in keywords.items()}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", LaplaceWarning)     # told once, by _fit
                res = glm_laplace(pd.DataFrame(Xv[rows], columns=X.columns, copy=False),
                                  y[rows], groups=codes[rows], **part, **options)
            frame = res.to_dataframe()
            frame["group"] = np.asarray(labels)[frame.group.to_numpy()]
            yield frame
            if bar is not None:
                bar.update(last - first)
    finally:
        if bar is not None:
            bar.close()


def _print_fit(res, frames, statuses, args, n_rows):
    pd = _pandas()
    table = pd.concat(frames, ignore_index=True)
    terms = list(dict.fromkeys(table.term.tolist()))
    family = res.family if res is not None else lookup(args.family).name
    print(f"Bayesian GLM by the Laplace approximation (laplace_fast), family {family}")
    print(f"Formula: {args.formula}")
    print(f"Rows: {n_rows}; terms ({len(terms)}): {', '.join(terms)}" + (
        f"; groups ({args.groups}): {sum(statuses.values())}" if args.groups else ""))
    if res is not None:
        print(f"log evidence {float(res.log_evidence):.4f}; status {int(res.status)} "
              f"({res.status.name}): {res.message}")
        print()
        print(res.summary().to_string(float_format=lambda v: f"{v:.5g}"))
        return
    print("statuses: " + ", ".join(f"{int(k)}: {n} groups"
                                   for k, n in sorted(statuses.items())))
    print()
    print(table.to_string(index=False, max_rows=40, float_format=lambda v: f"{v:.5g}"))


def _glmm(args):
    from ._glmm import glmm_laplace
    writer = _Writer(args.out) if args.out else None
    df = read_table(args.data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LaplaceWarning)
        fit = glmm_laplace(args.formula, data=df, family=args.family, **_columns(args))
    for w in caught:
        print(f"laplace-fast: note: {_one_line(w.message)}", file=sys.stderr)
    if writer is not None:
        writer.write(fit.to_dataframe())
        writer.close()
        return
    print(fit.summary())


def run(args):
    """Run the ``fit`` or ``glmm`` subcommand of the parsed ``args``; a user's mistake
    (a file, a column, a formula, a family, a value) raises :class:`UserError`."""
    try:
        (_fit if args.command == "fit" else _glmm)(args)
    except UserError:
        raise
    except (ValueError, TypeError, ImportError) as exc:
        # the API's messages name the argument and say what to do: the user's mistake
        raise UserError(_one_line(exc)) from None
