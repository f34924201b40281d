from lib.models.language.encoder import EncoderMismatchError, SentenceCache, TextEncoder, resolve_encoder_dir
from lib.models.language.tokenizer import TextTokenizer, default_vocab_dir

__all__ = ["EncoderMismatchError", "SentenceCache", "TextEncoder", "TextTokenizer", "default_vocab_dir",
           "resolve_encoder_dir"]
