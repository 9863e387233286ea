"""Stream processing logic of the worker, independent of Faust so it is testable on its own.

The Faust agents in ``stream_processor/`` hand each batch of raw messages to
:class:`~reelstream.streaming.processor.BatchProcessor` and forward its dead letters.
"""
