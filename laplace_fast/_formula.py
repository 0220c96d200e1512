"""Formulas: ``glm_laplace("y ~ x1 + x2", data=df, ...)`` and
``glmm_laplace("y ~ x + (1 + x | g)", data=df, ...)``.

A formula is turned into the arrays that the array interface takes (formulaic builds the
design matrices: an intercept unless ``- 1`` or ``0 +`` removes it, categorical columns
in treatment coding), and those arrays are fitted as they would be if the caller had
built them, so the numbers are the same bit for bit.  A GLMM formula's random-effect
term follows lme4: ``(expr | g)`` for an unstructured covariance of the columns of
``expr`` within the groups of column ``g``, ``(expr || g)`` for a diagonal one.

formulaic is an optional extra (``pip install laplace-fast[formula]``), imported at the
first formula, so ``import laplace_fast`` never loads it.
"""

import importlib
import re

import numpy as np

__all__ = ["glm_formula", "glm_arrays", "glmm_formula", "split_random", "EXTRA"]

EXTRA = "pip install laplace-fast[formula]"
_CBIND = re.compile(r"^\s*cbind\(\s*([^,()]+?)\s*,\s*([^,()]+?)\s*\)\s*$")


def _module(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(f"formulas need {name}: {EXTRA}") from None


def _frame(formula, data):
    """``data`` as a pandas DataFrame: a pandas one as it is, any other eager frame
    narwhals reads (polars, pyarrow) converted; TypeError otherwise."""
    pd = _module("pandas")
    if isinstance(data, pd.DataFrame):
        return data
    if data is None:
        raise TypeError(f"X={formula!r} is read as a formula: data is required, the "
                        "DataFrame whose columns it names (data=df)")
    try:
        nw = importlib.import_module("narwhals")
        return nw.from_native(data, eager_only=True).to_pandas()
    except (ImportError, TypeError):
        raise TypeError(f"X={formula!r} is read as a formula, whose data must be a "
                        f"DataFrame (pandas, or polars/pyarrow with narwhals installed), "
                        f"got {type(data).__name__}") from None


def _top_level(text, seps):
    """Split ``text`` at the characters of ``seps`` outside parentheses: a list of
    (the separator before, the piece), the first with separator ''."""
    parts, depth, start, sep = [], 0, 0, ""
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"formula {text!r}: unbalanced parentheses")
        elif depth == 0 and ch in seps:
            parts.append((sep, text[start:i]))
            sep, start = ch, i + 1
    if depth:
        raise ValueError(f"formula {text!r}: unbalanced parentheses")
    parts.append((sep, text[start:]))
    return parts


def _sides(formula):
    """The response and the right-hand side of ``formula`` (strings)."""
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string, got {type(formula).__name__}")
    sides = _top_level(formula, "~")
    if len(sides) != 2 or not sides[0][1].strip() or not sides[1][1].strip():
        raise ValueError(f"formula {formula!r} must read 'response ~ terms', "
                         "e.g. 'y ~ x1 + x2'")
    return sides[0][1].strip(), sides[1][1].strip()


def _outside(text):
    """The characters of ``text`` outside any parentheses."""
    return "".join(ch for ch, depth in zip(text, _depths(text)) if depth == 0)


def _depths(text):
    """Each character's parenthesis depth (a parenthesis counts as inside)."""
    depth, out = 0, []
    for ch in text:
        depth += ch == "("
        out.append(depth)
        depth -= ch == ")"
    return out


def split_random(formula, rhs):
    """The fixed-effect terms of ``rhs`` (a string, ``"1"`` when none is left) and
    its random-effect terms ``(expr | group)`` / ``(expr || group)``, as a list of
    (expr, group, diagonal)."""
    fixed, bars = [], []
    for sign, term in _top_level(rhs, "+-"):
        t = term.strip()
        if not t and not sign:
            continue        # the empty piece before a leading sign ("-1 + x")
        wrapped = t.startswith("(") and t.endswith(")") and 0 not in _depths(t)[1:-1]
        if wrapped and "|" in _outside(t[1:-1]):
            if sign == "-":
                raise ValueError(f"formula {formula!r}: a random-effect term cannot be "
                                 f"removed with '-' ({t})")
            pieces = [p.strip() for _, p in _top_level(t[1:-1], "|")]
            diagonal = len(pieces) == 3 and not pieces[1]
            if diagonal:
                pieces = [pieces[0], pieces[2]]
            if len(pieces) != 2 or not all(pieces):
                raise ValueError(f"formula {formula!r}: a random-effect term reads "
                                 f"'(terms | group)' or '(terms || group)', got {t}")
            bars.append((pieces[0], pieces[1], diagonal))
        else:
            if "|" in t:
                raise ValueError(f"formula {formula!r}: '|' belongs inside a random-"
                                 f"effect term '(terms | group)', got {t!r}")
            fixed.append(f" {sign} {t}" if sign else t)
    text = "".join(fixed).strip()
    return (text if text.strip("+- ") else "1"), bars


def _check_names(formula, df, formulaic, *texts):
    """ValueError naming the columns that ``texts`` (formula pieces) use but ``df``
    lacks, or that have missing values."""
    used = set()
    for text in texts:
        try:
            used |= {str(v) for v in formulaic.Formula(text).required_variables}
        except Exception as exc:      # formulaic's parse errors have no common base
            raise ValueError(f"formula {formula!r} cannot be parsed: {exc}") from None
    columns = {str(c) for c in df.columns}
    missing = sorted(used - columns - {"np"})
    if missing:
        raise ValueError(f"formula {formula!r} names columns that data lacks: "
                         f"{', '.join(missing)} (data has {', '.join(map(str, df.columns))})")
    _check_missing(df, sorted(used & columns))


def _check_missing(df, cols):
    if cols:
        na = df[cols].isna().any()
        bad = [str(c) for c in na.index[na.to_numpy()]]
        if bad:
            raise ValueError(f"data has missing values (NaN/None) in columns "
                             f"{', '.join(bad)}; drop those rows first "
                             f"(df.dropna(subset=[...])) or fill them")


def _matrix(formula, text, df, formulaic):
    """The design matrix of the right-hand side ``text`` and its column names."""
    try:
        mm = formulaic.model_matrix(text, df, na_action="raise", output="numpy",
                                    context={"np": np})
    except Exception as exc:         # formulaic's evaluation errors have no common base
        raise ValueError(f"formula {formula!r}: {exc}") from None
    names = tuple(str(c) for c in mm.model_spec.column_names)
    return np.asarray(mm, dtype=np.float64).reshape(len(df), len(names)), names


def _response(formula, lhs, df, formulaic, family):
    """y (and the binomial trials for ``cbind(successes, failures)``)."""
    m = _CBIND.match(lhs)
    if m:
        if family is not None and str(family).lower() != "binomial":
            raise ValueError(f"formula {formula!r}: cbind(successes, failures) is the "
                             f"binomial response, not family={family!r}")
        succ, _ = _matrix(formula, f"0 + {m.group(1)}", df, formulaic)
        fail, _ = _matrix(formula, f"0 + {m.group(2)}", df, formulaic)
        return succ[:, 0], succ[:, 0] + fail[:, 0]
    if lhs in df.columns:       # a column as it is (a boolean one reads as 0/1)
        if df[lhs].dtype.kind not in "biuf":
            raise ValueError(f"formula {formula!r}: the response {lhs!r} must be one "
                             f"numeric column, it has dtype {df[lhs].dtype}")
        return df[lhs].to_numpy(dtype=np.float64), None
    y, names = _matrix(formula, f"0 + {lhs}", df, formulaic)
    if y.shape[1] != 1:
        raise ValueError(f"formula {formula!r}: the response {lhs!r} must be one numeric "
                         f"column, it expands to {len(names)} ({', '.join(names)})")
    return y[:, 0], None


def _column(df, value, name):
    """A keyword that may name a column of data: that column's values; else as given."""
    if not isinstance(value, str):
        return value
    if value not in df.columns:
        raise ValueError(f"{name}={value!r} is not a column of data (data has "
                         f"{', '.join(map(str, df.columns))})")
    _check_missing(df, [value])
    return df[value].to_numpy()


def _design(formula, data, family, fixed_only):
    formulaic = _module("formulaic")
    df = _frame(formula, data)
    lhs, rhs = _sides(formula)
    fixed, bars = split_random(formula, rhs)
    if fixed_only and bars:
        raise ValueError(f"formula {formula!r} has a random-effect term "
                         f"{'(' + bars[0][0] + ' | ' + bars[0][1] + ')'}: fit it with "
                         "glmm_laplace, or use groups= for one GLM per group")
    m = _CBIND.match(lhs)
    _check_names(formula, df, formulaic, *(m.groups() if m else (lhs,)), fixed,
                 *(b[0] for b in bars))
    y, trials = _response(formula, lhs, df, formulaic, family)
    X, names = _matrix(formula, fixed, df, formulaic)
    return df, y, trials, X, names, bars


def _trials(formula, trials, given):
    if trials is not None and given is not None:
        raise ValueError(f"formula {formula!r} gives the trials with cbind(); "
                         "do not pass trials= as well")
    return trials if trials is not None else given


def _data(formula, y, data):
    """The frame of a formula call: ``data``, or the second positional argument (the
    place of ``y``), as statsmodels' formulas take it."""
    if y is not None and data is not None:
        raise TypeError(f"with a formula ({formula!r}) the response comes from data: "
                        "pass the formula and data=df, not y")
    return data if y is None else y


def glm_arrays(formula, data, *, groups=None, offset=None, weights=None, trials=None,
               family=None):
    """The arrays of glm_laplace for a formula: X (a DataFrame whose columns name the
    parameters), y and the keywords groups, offset, weights and trials (a column's
    values where a keyword names a column of data)."""
    df, y, cb_trials, X, names, _ = _design(formula, data, family, True)
    pd = _module("pandas")
    return pd.DataFrame(X, columns=list(names), copy=False), y, {
        "groups": _column(df, groups, "groups"), "offset": _column(df, offset, "offset"),
        "weights": _column(df, weights, "weights"),
        "trials": _trials(formula, _column(df, trials, "trials"), cb_trials)}


def glm_formula(formula, data, *, y=None, groups=None, offset=None, weights=None,
                trials=None, **options):
    """glm_laplace for a formula: the arrays built, then fitted as arrays."""
    from ._glm import glm_laplace
    X, y, keywords = glm_arrays(formula, _data(formula, y, data), groups=groups,
                                offset=offset, weights=weights, trials=trials,
                                family=options.get("family"))
    return glm_laplace(X, y, **keywords, **options)


def glmm_formula(formula, data, *, y=None, groups=None, Z=None, offset=None, weights=None,
                 trials=None, re_cov="full", **options):
    """glmm_laplace for a formula with one random-effect term."""
    from ._glmm import glmm_laplace
    data = _data(formula, y, data)
    for name, value in (("groups", groups), ("Z", Z)):
        if value is not None:
            raise TypeError(f"with a formula ({formula!r}) the random-effect term "
                            f"'(terms | group)' gives the groups and Z: do not pass {name}")
    df, y, cb_trials, X, names, bars = _design(formula, data, options.get("family"), False)
    if len(bars) != 1:
        raise ValueError(
            f"formula {formula!r} must have exactly one random-effect term "
            f"'(terms | group)', it has {len(bars)}" + (
                "; for uncorrelated effects of one group write (terms || group)"
                if len(bars) > 1 else ""))
    expr, group, diagonal = bars[0]
    if group not in df.columns:
        raise ValueError(f"formula {formula!r}: the grouping factor {group!r} must be one "
                         f"column of data (data has {', '.join(map(str, df.columns))})")
    formulaic = _module("formulaic")
    Z, re_names = _matrix(formula, expr, df, formulaic)
    res = glmm_laplace(X, y, _column(df, group, "group"), Z=Z,
                       offset=_column(df, offset, "offset"),
                       weights=_column(df, weights, "weights"),
                       trials=_trials(formula, _column(df, trials, "trials"), cb_trials),
                       re_cov="diag" if diagonal else re_cov, **options)
    res.param_names = names
    res.re_names = re_names
    res.group_name = group
    res.formula = formula
    res.random_effects.param_names = re_names
    return res
