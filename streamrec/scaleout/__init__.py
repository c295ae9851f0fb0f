"""The scale-out topology: Kafka log, processor workers, Redis state, API replicas.

:mod:`streamrec.scaleout.worker` is the processor (``streamrec process``),
:mod:`streamrec.scaleout.engine` builds the API side's engine, and
:mod:`streamrec.scaleout.cluster` starts a whole topology on one machine.
"""
