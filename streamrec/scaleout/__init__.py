"""The scale-out topology: Kafka log, processor workers, Redis state, API replicas.

Every role is a ``streamrec`` command: ``streamrec process`` runs a worker
(:mod:`streamrec.scaleout.worker`), ``streamrec serve --log kafka://… --state
redis://…`` an API replica (its engine is :mod:`streamrec.scaleout.engine`), and
``streamrec rebase`` moves the decay landmark (:mod:`streamrec.scaleout.landmark`).
:mod:`streamrec.scaleout.topology` checks their URLs, and
:mod:`streamrec.scaleout.cluster` starts a whole topology on one machine.
"""
