"""The scale-out topology: Kafka log, processor workers, Redis state, API replicas.

Every role is a ``streamrec`` command wired by :mod:`streamrec.bootstrap`:
``streamrec process`` runs a worker (:mod:`streamrec.scaleout.worker`),
``streamrec serve --log kafka://… --state redis://…`` an API replica, and
``streamrec rebase`` moves the decay landmark (:mod:`streamrec.scaleout.commands`).
:mod:`streamrec.scaleout.cluster` starts a whole topology on one machine.
"""
