"""Analysis of predicted scores against ground truth: rank metrics (``metrics``), their
uncertainty (``uncertainty``, ``seeds``, ``ci_tables``), the baselines a benchmark offers
(``baselines``), the ground truth's reliability (``reliability``), which choices a ranking
rewards (``preference``), weight-sharing biases (``bias``) and the sentences on them
(``findings``)."""
