"""Caption metrics from maintained libraries: BLEU-4 (sacrebleu), ROUGE-L (rouge-score) and
METEOR (nltk), each generated text scored against all reference texts of its item.

METEOR's synonym stage needs WordNet. Nothing is downloaded: the WordNet 3.0 database of the
Debian package `wordnet-base` (`apt-get install wordnet-base`, /usr/share/wordnet) is copied once
into a cache folder with the `lexnames` table from the same package's lexnames(5) page, which
nltk's reader needs and the package does not ship as a file. Without it, METEOR is None.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import warnings
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from posegpt.errors import InvalidInputError

#: Where Debian's wordnet-base puts the WordNet 3.0 database and its lexnames(5) page.
DEBIAN_WORDNET = Path("/usr/share/wordnet")
DEBIAN_LEXNAMES = Path("/usr/share/man/man5/lexnames.5WN.gz")
#: The database files nltk's WordNet reader opens.
WORDNET_FILES = (
    tuple(f"{kind}.{pos}" for kind in ("data", "index") for pos in ("adj", "adv", "noun", "verb"))
    + tuple(f"{pos}.exc" for pos in ("adj", "adv", "noun", "verb"))
    + ("cntlist.rev",)
)


def caption_metrics(
    texts: Sequence[str], references: Sequence[Sequence[str]]
) -> dict[str, float | None]:
    """BLEU-4, ROUGE-L (F1) and METEOR, in percent, of `texts[i]` against `references[i]`
    (one or more each): BLEU over the corpus, the others averaged over the items (each the best
    over its references for ROUGE-L, nltk's multi-reference score for METEOR)."""
    import sacrebleu
    from rouge_score import rouge_scorer

    if len(texts) != len(references) or not texts:
        raise InvalidInputError("need one list of references per generated text")
    if any(not refs for refs in references):
        raise InvalidInputError("every generated text needs at least one reference")
    most = max(len(refs) for refs in references)
    streams = [[refs[min(j, len(refs) - 1)] for refs in references] for j in range(most)]
    bleu = sacrebleu.corpus_bleu(list(texts), streams).score
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    rouge = [
        scorer.score_multi(list(refs), text)["rougeL"].fmeasure
        for text, refs in zip(texts, references, strict=True)
    ]
    return {
        "bleu4": float(bleu),
        "rougeL": 100.0 * float(np.mean(rouge)),
        "meteor": meteor(texts, references),
    }


def meteor(texts: Sequence[str], references: Sequence[Sequence[str]]) -> float | None:
    """nltk's METEOR, in percent, averaged over the items; None without WordNet."""
    wordnet = load_wordnet()
    if wordnet is None:
        return None
    from nltk.translate.meteor_score import meteor_score

    scores = [
        meteor_score([_words(r) for r in refs], _words(text), wordnet=wordnet)
        for text, refs in zip(texts, references, strict=True)
    ]
    return 100.0 * float(np.mean(scores))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def wordnet_dir() -> Path:
    """The cache folder holding the WordNet copy for nltk."""
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "posegpt" / "wordnet"


@cache
def load_wordnet():
    """nltk's WordNet reader over Debian's WordNet 3.0 (copied into `wordnet_dir()` on first
    use), or None when the package is not installed."""
    if (
        not all((DEBIAN_WORDNET / f).is_file() for f in WORDNET_FILES)
        or not DEBIAN_LEXNAMES.is_file()
    ):
        return None
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class DebianWordNet(WordNetCorpusReader):
        def map_wn(self, version: str = "wordnet") -> None:
            return None  # it is WordNet 3.0, nltk's own version: nothing to map

    root = wordnet_dir()
    if not (root / "lexnames").is_file():
        tmp = root.with_name(root.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in WORDNET_FILES:
            shutil.copyfile(DEBIAN_WORDNET / name, tmp / name)
        (tmp / "lexnames").write_text(_lexnames(), encoding="utf-8")
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
    if str(root) not in nltk.data.path:
        nltk.data.path.append(str(root))  # nltk reads corpus files only under its data paths
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available"
        return DebianWordNet(str(root), None)


def _lexnames() -> str:
    """The lexnames file (number, name, syntactic category) from the lexnames(5) page."""
    page = gzip.decompress(DEBIAN_LEXNAMES.read_bytes()).decode("utf-8", "replace")
    category = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}
    lines = []
    for number, name in re.findall(r"^(\d\d)\t(\S+)", page, flags=re.MULTILINE):
        pos = name.split(".")[0]
        lines.append(f"{number}\t{name}\t{category[pos]}")
    if len(lines) != 45:
        raise InvalidInputError(f"{DEBIAN_LEXNAMES} lists {len(lines)} lexicographer files, not 45")
    return "\n".join(lines) + "\n"
