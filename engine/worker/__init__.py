"""The Granian (RSGI) redirect worker: lookup, judge, route, log, answer."""
