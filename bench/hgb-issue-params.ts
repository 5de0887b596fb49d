/**
 * Issue 15's boosting settings, in scikit-learn's names (bench/boosting_peers.py maps them for each
 * library): 100 iterations, 31 leaves, learning rate 0.1, 255 bins, no early stopping.
 */
export const ISSUE_HGB_PARAMS = {
  max_iter: 100,
  max_leaf_nodes: 31,
  learning_rate: 0.1,
  max_bins: 255,
  early_stopping: false,
  random_state: 0,
};
