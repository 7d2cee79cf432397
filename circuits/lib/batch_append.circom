pragma circom 2.1.9;

// BatchAppend(depth, batchSize, emptySubtreeRoot)
//
// Proves one state change of Sibyl's result log, a binary Poseidon(2) Merkle tree of fixed `depth`:
// the aligned subtree of `batchSize` leaves at `startIndex` was empty in the tree whose root is
// `oldRoot`, and filling it with `leaves` turns the root into `newRoot`.
//
// Public signals, in this order: oldRoot, newRoot, startIndex, leaves[batchSize].
// Private: siblings[depth - log2(batchSize)], the path from the subtree up to the root.
//
// Every public signal is constrained: oldRoot and newRoot by equality with the two recomputed roots,
// startIndex by its bit decomposition (range and alignment), each leaf as an input of the subtree hash.
//
// Assumptions:
// - batchSize is a power of two and depth < 253 (bit decomposition of startIndex is then unique).
// - emptySubtreeRoot is the root of a subtree of batchSize empty (zero) leaves; the generator of the
//   entry circuits computes it with the same Poseidon as the rest of the system.
// - Leaves are opaque field elements. The verifier (the coordinator contract) computes them and
//   supplies startIndex as its next aligned index; this circuit does not know which slots come after.

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";

function log2Exact(n) {
    var k = 0;
    while ((1 << k) < n) {
        k++;
    }
    assert((1 << k) == n);
    return k;
}

// Root of a complete binary tree over `width` (a power of two) leaves.
template SubtreeRoot(width) {
    signal input leaves[width];
    signal output root;

    if (width == 1) {
        root <== leaves[0];
    } else {
        var levels = log2Exact(width);
        component hashers[width - 1];
        signal nodes[2 * width - 1];
        for (var i = 0; i < width; i++) {
            nodes[width - 1 + i] <== leaves[i];
        }
        // Heap layout: node i has children 2i+1 and 2i+2; node 0 is the root.
        for (var i = width - 2; i >= 0; i--) {
            hashers[i] = Poseidon(2);
            hashers[i].inputs[0] <== nodes[2 * i + 1];
            hashers[i].inputs[1] <== nodes[2 * i + 2];
            nodes[i] <== hashers[i].out;
        }
        root <== nodes[0];
    }
}

// Root reached by walking `node` up `levels` levels; pathBits[i] = 1 when the node is a right child.
template PathRoot(levels) {
    signal input node;
    signal input pathBits[levels];
    signal input siblings[levels];
    signal output root;

    component hashers[levels];
    signal current[levels + 1];
    signal left[levels];
    current[0] <== node;
    for (var i = 0; i < levels; i++) {
        // One multiplication selects the left input; the right one is then linear.
        left[i] <== current[i] + pathBits[i] * (siblings[i] - current[i]);
        hashers[i] = Poseidon(2);
        hashers[i].inputs[0] <== left[i];
        hashers[i].inputs[1] <== current[i] + siblings[i] - left[i];
        current[i + 1] <== hashers[i].out;
    }
    root <== current[levels];
}

template BatchAppend(depth, batchSize, emptySubtreeRoot) {
    var subtreeLevels = log2Exact(batchSize);
    var pathLevels = depth - subtreeLevels;
    assert(depth < 253);
    assert(subtreeLevels <= depth);

    signal input oldRoot;
    signal input newRoot;
    signal input startIndex;
    signal input leaves[batchSize];
    signal input siblings[pathLevels];

    // startIndex < 2^depth, and its low bits are zero: an aligned slot inside the tree.
    component indexBits = Num2Bits(depth);
    indexBits.in <== startIndex;
    for (var i = 0; i < subtreeLevels; i++) {
        indexBits.out[i] === 0;
    }

    component filled = SubtreeRoot(batchSize);
    filled.leaves <== leaves;

    component before = PathRoot(pathLevels);
    component after = PathRoot(pathLevels);
    before.node <== emptySubtreeRoot;
    after.node <== filled.root;
    for (var i = 0; i < pathLevels; i++) {
        before.pathBits[i] <== indexBits.out[subtreeLevels + i];
        after.pathBits[i] <== indexBits.out[subtreeLevels + i];
        before.siblings[i] <== siblings[i];
        after.siblings[i] <== siblings[i];
    }

    oldRoot === before.root;
    newRoot === after.root;
}
