"""Audio transcription: decoding uploads, trimming silence, the transcription pipeline.

``settings`` is imported by the config; everything else loads on the first audio request, so
chat-only processes never import numpy's audio stack.
"""
