"""The llm suite's decode paths: one adapter per backend, each decoding the way that backend's experts do, behind
one interface (generation.Decoder). docs/llm.md says what each one runs and why."""
