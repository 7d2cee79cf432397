// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IBatchVerifier} from "./interfaces/IBatchVerifier.sol";
import {ISibylCoordinator} from "./interfaces/ISibylCoordinator.sol";
import {SibylEncoding} from "./libraries/SibylEncoding.sol";

/// @title ResultLog
/// @notice The result log: a Poseidon Merkle tree whose root moves only by a verified BatchAppend
/// proof, and in front of it a bounded queue of delivered leaves still waiting for their proof.
/// @dev Every delivered result gets the next sequence number; leaves enter the tree in sequence order.
/// The queue is committed onchain as a keccak hash chain, chain(s + 1) = keccak256(chain(s), leaf(s))
/// with leaf(s) the result of sequence s, restarted at s0, the first sequence delivered into an empty
/// queue, with chain(s0) = bytes32(s0).
/// Each delivery stores the chain at its end in a ring of checkpoints, so a proof may cover any
/// prefix of the queue that ends where a delivery ended, checked against one stored word. Proving
/// pays nothing: the proof's gas was paid to the operators as they delivered (proofGasPerLeaf), so a
/// copy of someone's prove transaction gains its sender nothing.
abstract contract ResultLog is ISibylCoordinator {
    /// @notice Most results delivered and not yet proven: a delivery past it reverts, so the log can
    /// never fall behind its deliveries without limit. Large enough that a burst is delivered at once
    /// while proofs catch up (a 64-leaf proof takes ~3 s).
    uint256 public constant MAX_PENDING_LEAVES = 512;
    /// @dev Checkpoint ring size: more than the queue can span (MAX_PENDING_LEAVES + 1 positions),
    /// a power of two.
    uint256 private constant CHECKPOINTS = 1024;
    /// @dev Ring slots made non-zero at deployment; prepareCheckpoints does the rest (all of them would
    /// not fit one transaction under EIP-7825's cap).
    uint256 private constant CHECKPOINTS_PREPARED_AT_DEPLOYMENT = 256;
    uint256 private constant TREE_CAPACITY = 1 << SibylEncoding.TREE_DEPTH;

    /// @dev Everything a delivery or a proof reads and writes about the log, in one storage slot.
    struct Cursor {
        /// @dev The first tree slot never written; the next batch starts at the next multiple of its size.
        uint40 nextIndex;
        /// @dev Bit k is set when batches of 2^k have a verifier.
        uint40 batchSizeBits;
        /// @dev Sequence of the first result not yet in the tree.
        uint40 proven;
        /// @dev Sequence the next delivered result gets.
        uint40 delivered;
        /// @dev Where the pending chain last restarted.
        uint40 chainStart;
    }

    /// @inheritdoc ISibylCoordinator
    uint256 public root = SibylEncoding.EMPTY_ROOT;
    Cursor internal _cursor;
    /// @notice The verifier used for batches of each size.
    mapping(uint256 batchSize => IBatchVerifier verifier) public verifierFor;
    /// @dev chain(s) at position s % CHECKPOINTS for every s where a delivery ended.
    bytes32[CHECKPOINTS] private _checkpoints;

    constructor() {
        _prepareCheckpoints(0, CHECKPOINTS_PREPARED_AT_DEPLOYMENT);
    }

    /// @inheritdoc ISibylCoordinator
    function prepareCheckpoints(uint256 from, uint256 to) external {
        if (to > CHECKPOINTS) to = CHECKPOINTS;
        _prepareCheckpoints(from, to);
    }

    // ─── Views ─────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISibylCoordinator
    function nextIndex() external view returns (uint64) {
        return _cursor.nextIndex;
    }

    /// @inheritdoc ISibylCoordinator
    function pendingLog()
        external
        view
        returns (uint256 proven, uint256 delivered, bytes32 head, bytes32 tail)
    {
        Cursor memory cursor = _cursor;
        proven = cursor.proven;
        delivered = cursor.delivered;
        head = _chainAt(cursor, proven);
        tail = _chainAt(cursor, delivered);
    }

    /// @inheritdoc ISibylCoordinator
    function batchSizes() external view returns (uint256[] memory sizes) {
        uint256 bits = _cursor.batchSizeBits;
        sizes = new uint256[](_popCount(bits));
        uint256 found;
        for (uint256 k; bits >> k != 0; ++k) {
            if ((bits >> k) & 1 == 1) sizes[found++] = 1 << k;
        }
    }

    // ─── For the coordinator ───────────────────────────────────────────────────────────────────────

    /// @dev Proves the queue's first leaves (see ISibylCoordinator.prove).
    function _prove(uint256[] calldata leaves, uint256 newRoot, uint256[8] calldata proof) internal {
        Cursor memory cursor = _cursor;
        uint256 first = cursor.proven;
        uint256 count = leaves.length;
        uint256 pending = cursor.delivered - first;
        if (count == 0 || count > pending) revert NotPendingLeaves(first, count, pending);
        bytes32 chain = _chainAt(cursor, first);
        for (uint256 i; i < count; ++i) chain = _extend(chain, leaves[i]);
        // Only a delivery's end holds a checkpoint; anywhere else the stored word is another position's.
        if (chain != _checkpoints[(first + count) % CHECKPOINTS]) revert PendingLeavesMismatch(first, count);

        (uint256[] memory signals, IBatchVerifier verifier) = _batchSignals(cursor, count, newRoot);
        for (uint256 i; i < count; ++i) signals[3 + i] = leaves[i];
        cursor.proven = uint40(first + count);
        _append(cursor, verifier, signals, proof, first, count);
    }

    /// @dev The signals of a batch of `count` leaves on top of the current root, leaves left zero, and
    /// its verifier. Reverts when no verifier fits or the tree has no room.
    function _batchSignals(
        Cursor memory cursor,
        uint256 count,
        uint256 newRoot
    ) internal view returns (uint256[] memory signals, IBatchVerifier verifier) {
        uint256 batchSize;
        (batchSize, verifier) = _verifierFitting(cursor.batchSizeBits, count);
        uint256 startIndex = ((uint256(cursor.nextIndex) + batchSize - 1) / batchSize) * batchSize;
        if (startIndex + batchSize > TREE_CAPACITY) revert TreeFull(startIndex, batchSize);
        if (newRoot >= SibylEncoding.SNARK_SCALAR_FIELD) revert RootOutOfField(newRoot);
        signals = new uint256[](batchSize + 3);
        signals[0] = root;
        signals[1] = newRoot;
        signals[2] = startIndex;
    }

    /// @dev Checks the proof of `signals`, moves the root and stores `cursor` with the tree grown by the
    /// batch. The batch holds the results of sequence first .. first + count - 1.
    function _append(
        Cursor memory cursor,
        IBatchVerifier verifier,
        uint256[] memory signals,
        uint256[8] calldata proof,
        uint256 first,
        uint256 count
    ) internal {
        uint256 batchSize = signals.length - 3;
        if (!verifier.verifyBatch(proof, signals)) {
            revert InvalidProof(signals[0], signals[1], signals[2], batchSize);
        }
        root = signals[1];
        cursor.nextIndex = uint40(signals[2] + batchSize);
        _cursor = cursor;
        emit BatchAppended(msg.sender, signals[0], signals[1], signals[2], batchSize, count, first);
    }

    /// @dev Starts queueing `count` delivered leaves: checks the bounds and returns the chain to extend.
    function _openDelivery(Cursor memory cursor, uint256 count) internal view returns (bytes32 chain) {
        uint256 first = cursor.delivered;
        uint256 pending = first - cursor.proven;
        if (pending + count > MAX_PENDING_LEAVES) {
            revert TooManyPendingLeaves(pending, count, MAX_PENDING_LEAVES);
        }
        // Every queued leaf must still fit the tree however it is proven: with the 1/4/16/64 verifiers a
        // proof of k leaves takes at most 4k slots (the next batch size up) after at most 63 skipped for
        // alignment, so at most 67 slots a leaf. (Sparser verifier sets waste more; this only matters
        // near 2^32 leaves.)
        if (uint256(cursor.nextIndex) + 67 * (pending + count) > TREE_CAPACITY) {
            revert TreeFull(cursor.nextIndex, pending + count);
        }
        if (pending == 0) cursor.chainStart = uint40(first);
        return _chainAtFirst(cursor, first);
    }

    /// @dev Finishes a delivery opened with _openDelivery: checkpoints the chain at its end and stores
    /// the cursor.
    function _closeDelivery(Cursor memory cursor, uint256 count, bytes32 chain) internal {
        uint256 end = uint256(cursor.delivered) + count;
        _checkpoints[end % CHECKPOINTS] = chain;
        cursor.delivered = uint40(end);
        _cursor = cursor;
    }

    function _extend(bytes32 chain, uint256 leaf) internal pure returns (bytes32 next) {
        assembly ("memory-safe") {
            mstore(0x00, chain)
            mstore(0x20, leaf)
            next := keccak256(0x00, 0x40)
        }
    }

    function _setVerifierBit(uint256 batchSize, bool present) internal {
        uint40 bit = uint40(1 << _log2Ceil(batchSize));
        uint40 bits = _cursor.batchSizeBits;
        _cursor.batchSizeBits = present ? bits | bit : bits & ~bit;
    }

    /// @dev The largest batch size with a verifier: no delivery may be larger, so a proof can always
    /// reach the end of the queue's first delivery.
    function _largestBatchSize(uint256 bits) internal pure returns (uint256 size) {
        for (uint256 k; bits >> k != 0; ++k) if ((bits >> k) & 1 == 1) size = 1 << k;
    }

    // ─── Internals ─────────────────────────────────────────────────────────────────────────────────

    /// @dev Makes ring slots non-zero, so a delivery's checkpoint write never pays for a fresh slot
    /// (22.1k instead of 5k). Slots in use are left alone.
    function _prepareCheckpoints(uint256 from, uint256 to) private {
        for (uint256 i = from; i < to; ++i) if (_checkpoints[i] == 0) _checkpoints[i] = bytes32(uint256(1));
    }

    /// @dev The chain at `position`, which must be the queue's start, a delivery's end or the restart.
    function _chainAt(Cursor memory cursor, uint256 position) private view returns (bytes32) {
        if (position == cursor.proven && cursor.proven == cursor.delivered) return bytes32(position);
        return _chainAtFirst(cursor, position);
    }

    function _chainAtFirst(Cursor memory cursor, uint256 position) private view returns (bytes32) {
        return position == cursor.chainStart ? bytes32(position) : _checkpoints[position % CHECKPOINTS];
    }

    function _verifierFitting(
        uint256 bits,
        uint256 count
    ) private view returns (uint256 batchSize, IBatchVerifier verifier) {
        if (count != 0) {
            for (uint256 k = _log2Ceil(count); bits >> k != 0; ++k) {
                if ((bits >> k) & 1 == 1) {
                    batchSize = 1 << k;
                    return (batchSize, verifierFor[batchSize]);
                }
            }
        }
        revert UnsupportedBatchSize(count);
    }

    /// @dev The least k with 2^k >= value.
    function _log2Ceil(uint256 value) internal pure returns (uint256 k) {
        while ((1 << k) < value) ++k;
    }

    function _popCount(uint256 bits) private pure returns (uint256 count) {
        for (; bits != 0; bits &= bits - 1) ++count;
    }
}
