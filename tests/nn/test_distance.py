"""cosine_similarity, pairwise_distance, pdist, normalize and the CosineSimilarity / PairwiseDistance layers
against torch (outputs and gradients, float64)."""
import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch, torch

TF = torch.nn.functional
rng = np.random.default_rng(0)


@pytest.mark.parametrize("shapes, kw", [(((4, 5), (4, 5)), {}), (((4, 5), (1, 5)), {"dim": 1}),
                                        (((2, 3, 4), (2, 3, 4)), {"dim": -1, "eps": 1e-3})])
def test_cosine_similarity(shapes, kw):
    compare_functional_with_torch(lambda a, b: F.cosine_similarity(a, b, **kw),
                                  lambda a, b: TF.cosine_similarity(a, b, **kw), [rng.normal(size=s) for s in shapes])


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance(p, keepdim):
    compare_functional_with_torch(lambda a, b: F.pairwise_distance(a, b, p, keepdim=keepdim),
                                  lambda a, b: TF.pairwise_distance(a, b, p, keepdim=keepdim),
                                  [rng.normal(size=(4, 6)), rng.normal(size=(4, 6))])


@pytest.mark.parametrize("p", [1, 2, 3.5, float("inf")])
def test_pdist(p):
    compare_functional_with_torch(lambda a: F.pdist(a, p), lambda a: TF.pdist(a, p), [rng.normal(size=(5, 3))])


@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, 0), (3.0, -1)])
def test_normalize(p, dim):
    compare_functional_with_torch(lambda a: F.normalize(a, p, dim), lambda a: TF.normalize(a, p, dim),
                                  [rng.normal(size=(3, 4, 2))])


def test_layers():
    for kw in ({}, {"dim": 0, "eps": 1e-4}):
        ours, ref = rd.nn.CosineSimilarity(**kw), torch.nn.CosineSimilarity(**kw)
        assert repr(ours) == repr(ref)
        compare_with_torch(ours, ref, inputs=[rng.normal(size=(3, 4)), rng.normal(size=(3, 4))])
    for kw in ({}, {"p": 1.0, "eps": 1e-3, "keepdim": True}):
        ours, ref = rd.nn.PairwiseDistance(**kw), torch.nn.PairwiseDistance(**kw)
        assert repr(ours) == repr(ref)
        compare_with_torch(ours, ref, inputs=[rng.normal(size=(3, 4)), rng.normal(size=(3, 4))])


def test_errors():
    with pytest.raises(RuntimeError, match=r"pdist: expected a 2-D input \(N, M\), got shape \(3,\)"):
        F.pdist(rd.ones(3))
    with pytest.raises(RuntimeError, match="cosine_similarity: x1 of shape"):
        F.cosine_similarity(rd.ones(2, 3), rd.ones(2, 4))
    with pytest.raises(ValueError, match="PairwiseDistance: p must be non-negative, got -1"):
        rd.nn.PairwiseDistance(p=-1)
