"""Trade-offs around the optimal plan: the price of independence from one provider
(``planner frontier``) and how different near-optimal plans can be (``planner
alternatives``). docs/tradeoffs.md says what each computes and how."""
