from lib.models.language.tokenizer import TextTokenizer, default_vocab_dir

__all__ = ["TextTokenizer", "default_vocab_dir"]
