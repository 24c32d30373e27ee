"""Build an XLM-R-architecture model with random weights, loadable by path.

No model hub can be reached from tests, CI or benchmarks, yet the real spacy-transformers
loading code must run. This writes what ``save_pretrained`` of a real checkpoint writes: a
SentencePiece tokenizer (trained on the fly, as XLM-R ships one, because spacy-transformers
reads ``tokenizer.vocab_file``) beside an ``XLMRobertaModel``. ``size="tiny"`` trains and
round-trips in seconds; ``size="base"`` has xlm-roberta-base's dimensions (and vocabulary
size) for speed and memory benchmarks. The weights are random: accuracy means nothing.

Speed depends on how many subwords a word becomes, so benchmarks of the base size train
the tokenizer on real sentences (``corpus_texts`` in ``bench/relation_extractor.py``) with
a realistic vocabulary (:data:`REALISTIC_VOCAB_SIZE`) and report :func:`wordpieces_per_word`; real
xlm-roberta-base gives about 1.3-1.6 pieces per word on English and German text.
"""

import tempfile
from pathlib import Path
from typing import Iterable, Optional, Union

#: Sentences in several scripts so the tokenizer covers every test language.
SAMPLE_TEXTS = [
    "Thom Yorke of Radiohead has included the guitar sounds in many songs.",
    "Leland High School is a public high school located in San Jose California.",
    "Apple was founded by Steve Jobs in Cupertino in 1976.",
    "Die Sacramento Heatwave ist ein Team mit Sitz in Sacramento, Kalifornien.",
    "Angela Merkel arbeitete für die CDU in Berlin.",
    "Le siège de Airbus se trouve à Toulouse, en France.",
    "Marie Curie est née à Varsovie et a travaillé à Paris.",
    "La sede de Telefónica está en Madrid, España.",
    "Orhan Pamuk İstanbul'da doğdu ve Türkiye'de yaşıyor.",
    "Mumbai'de bulunan şirket Tata Group'a aittir.",
    "阿里巴巴的总部位于中国杭州。",
    "马云创立了阿里巴巴集团。",
    "Газпром базируется в Москве, Россия.",
    "Лев Толстой родился в Ясной Поляне.",
]

#: Requested SentencePiece size for real sentences (a soft limit: fewer pieces are kept
#: where the text does not support that many).
REALISTIC_VOCAB_SIZE = 32000

SIZES = {
    "tiny": dict(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    ),
    "base": dict(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
        vocab_size=250002,
    ),
}


def _train_sentencepiece(texts: Iterable[str], prefix: Path, vocab_size: int) -> Path:
    import sentencepiece as spm

    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(texts)),
        model_prefix=str(prefix),
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    return Path(f"{prefix}.model")


def build_random_xlmr(
    output_dir: Union[str, Path],
    *,
    size: str = "tiny",
    texts: Optional[Iterable[str]] = None,
    vocab_size: int = 400,
    seed: int = 0,
) -> Path:
    """Write a random-weight XLM-R model and its tokenizer to ``output_dir``; return it.

    ``texts`` trains the SentencePiece vocabulary (default: :data:`SAMPLE_TEXTS`); a
    small ``vocab_size`` makes many subwords per word, so use a small transformer
    ``window`` with the tiny model.
    """
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizerFast

    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, not {size!r}")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        spm_file = _train_sentencepiece(
            texts or SAMPLE_TEXTS, Path(tmp) / "sentencepiece.bpe", vocab_size
        )
        tokenizer = XLMRobertaTokenizerFast(vocab_file=str(spm_file))
        tokenizer.save_pretrained(output_dir)
    dims = dict(SIZES[size])
    dims.setdefault("vocab_size", len(tokenizer))
    config = XLMRobertaConfig(
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **dims,
    )
    torch.manual_seed(seed)
    XLMRobertaModel(config).save_pretrained(output_dir)
    return output_dir


def wordpieces_per_word(model_dir: Union[str, Path], docs: Iterable) -> float:
    """Mean subword pieces per spaCy token over ``docs``.

    Each ``doc.text`` is tokenized whole, without special tokens, as spacy-transformers and
    the embedding aligner do, so this is the number that scales their cost per word.
    """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    pieces = words = 0
    for doc in docs:
        pieces += len(tokenizer(doc.text, add_special_tokens=False)["input_ids"])
        words += len(doc)
    return pieces / words
