# The benchmark (make bench): see tests/bench/.
