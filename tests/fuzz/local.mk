# libFuzzer harnesses (./configure --enable-fuzzing): see tests/fuzz/.
