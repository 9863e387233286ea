"""Stream processing logic of the worker, independent of Faust so it is testable on its own.

The Faust agents in ``stream_processor/`` hand each batch of raw messages to
:class:`~reelstream.streaming.supervisor.ProcessorSupervisor`, which runs it through
:class:`~reelstream.streaming.processor.BatchProcessor` in the processor process and forwards
its dead letters.
"""
