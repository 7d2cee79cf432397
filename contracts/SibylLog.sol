// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IBatchVerifier} from "./interfaces/IBatchVerifier.sol";
import {ISibylLog} from "./interfaces/ISibylLog.sol";
import {SibylEncoding} from "./libraries/SibylEncoding.sol";

/// @notice What the log asks of a coordinator it authorizes.
interface ISibylLogCoordinator {
    function log() external view returns (ISibylLog);

    function firstRequestId() external view returns (uint256);

    function nextRequestId() external view returns (uint256);

    function ledger() external view returns (address);

    /// @notice Called by the log when it authorizes the coordinator: take requests from now on.
    function activate() external;

    /// @notice Called by the log when a successor is authorized: take no new requests from now on.
    function retire(address successor) external;
}

/// @title SibylLog
/// @notice The result log, outliving every coordinator version: a Poseidon Merkle tree whose root
/// moves only by a verified BatchAppend proof, in front of it a bounded queue of delivered leaves still
/// waiting for their proof, and the coordinators allowed to append.
/// @dev The queue is committed as a keccak hash chain, chain(s + 1) = keccak256(chain(s), leaf(s)) with
/// leaf(s) the result of sequence s, restarted at s0, the first sequence delivered into an empty queue,
/// with chain(s0) = bytes32(s0). Each delivery stores the chain at its end in a ring of checkpoints, so
/// a proof may cover any prefix of the queue that ends where a delivery ended, checked against one
/// stored word. Proving pays nothing: the proof's gas was paid to the operators as they delivered, so a
/// copy of someone's prove transaction gains its sender nothing. The log holds no ether.
contract SibylLog is ISibylLog, Ownable2Step {
    /// @notice Most results delivered and not yet proven: a delivery past it reverts, so the log can
    /// never fall behind its deliveries without limit.
    uint256 public constant MAX_PENDING_LEAVES = 512;
    /// @dev Checkpoint ring size: more than the queue can span (MAX_PENDING_LEAVES + 1 positions).
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

    /// @inheritdoc ISibylLog
    uint256 public root = SibylEncoding.EMPTY_ROOT;
    Cursor private _cursor;
    /// @inheritdoc ISibylLog
    address public coordinator;
    /// @inheritdoc ISibylLog
    mapping(address account => bool allowed) public isCoordinator;
    address[] private _coordinators;
    /// @inheritdoc ISibylLog
    mapping(uint256 batchSize => IBatchVerifier verifier) public verifierFor;
    /// @dev chain(s) at position s % CHECKPOINTS for every s where a delivery ended.
    bytes32[CHECKPOINTS] private _checkpoints;

    modifier onlyCoordinator() {
        if (!isCoordinator[msg.sender]) revert NotCoordinator(msg.sender);
        _;
    }

    constructor(address initialOwner) Ownable(initialOwner) {
        _prepareCheckpoints(0, CHECKPOINTS_PREPARED_AT_DEPLOYMENT);
    }

    // ─── Coordinators ──────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISibylLog
    function authorizeCoordinator(address next) external onlyOwner {
        if (next.code.length == 0 || isCoordinator[next] || !_isBuiltOnThisLog(next))
            revert InvalidCoordinator(next);
        address previous = coordinator;
        coordinator = next;
        isCoordinator[next] = true;
        _coordinators.push(next);
        emit CoordinatorAuthorized(next, previous);
        if (previous != address(0)) {
            ISibylLogCoordinator(previous).retire(next);
            // Request ids name one request of the whole deployment: the successor's start after the
            // last one its predecessor can ever give (it is retired now).
            // ... and stakes carry over: one ledger for every version.
            if (
                ISibylLogCoordinator(next).firstRequestId() <
                    ISibylLogCoordinator(previous).nextRequestId() ||
                ISibylLogCoordinator(next).ledger() != ISibylLogCoordinator(previous).ledger()
            ) {
                revert InvalidCoordinator(next);
            }
        }
        ISibylLogCoordinator(next).activate();
    }

    /// @dev A contract without log() (or one that reverts) is no coordinator of this log either.
    function _isBuiltOnThisLog(address candidate) private view returns (bool) {
        try ISibylLogCoordinator(candidate).log() returns (ISibylLog itsLog) {
            return address(itsLog) == address(this);
        } catch {
            return false;
        }
    }

    /// @inheritdoc ISibylLog
    function revokeCoordinator(address retired) external onlyOwner {
        if (retired == coordinator) revert CurrentCoordinator(retired);
        if (!isCoordinator[retired]) revert NotCoordinator(retired);
        isCoordinator[retired] = false;
        emit CoordinatorRevoked(retired);
    }

    /// @inheritdoc ISibylLog
    function coordinators() external view returns (address[] memory) {
        return _coordinators;
    }

    // ─── Appending ─────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISibylLog
    function appendDelivered(uint256[] calldata leaves) external onlyCoordinator returns (uint256 first) {
        Cursor memory cursor = _cursor;
        uint256 count = leaves.length;
        if (count == 0 || count > _largestBatchSize(cursor.batchSizeBits)) revert UnsupportedBatchSize(count);
        first = cursor.delivered;
        uint256 pending = first - cursor.proven;
        if (pending + count > MAX_PENDING_LEAVES) {
            revert TooManyPendingLeaves(pending, count, MAX_PENDING_LEAVES);
        }
        // Every queued leaf must still fit the tree however it is proven: with the 1/4/16/64 verifiers a
        // proof of k leaves takes at most 4k slots (the next batch size up) after at most 63 skipped for
        // alignment, so at most 67 slots a leaf.
        if (uint256(cursor.nextIndex) + 67 * (pending + count) > TREE_CAPACITY) {
            revert TreeFull(cursor.nextIndex, pending + count);
        }
        if (pending == 0) cursor.chainStart = uint40(first);
        bytes32 chain = _chainAtFirst(cursor, first);
        for (uint256 i; i < count; ++i) chain = _extend(chain, leaves[i]);
        uint256 end = first + count;
        _checkpoints[end % CHECKPOINTS] = chain;
        cursor.delivered = uint40(end);
        _cursor = cursor;
    }

    /// @inheritdoc ISibylLog
    function appendProven(
        uint256[] calldata leaves,
        uint256 newRoot,
        uint256[8] calldata proof,
        address prover
    ) external onlyCoordinator returns (uint256 first) {
        Cursor memory cursor = _cursor;
        first = cursor.delivered;
        if (cursor.proven != first) revert UnprovenLeavesPending(cursor.proven, first);
        uint256 count = leaves.length;
        cursor.delivered = uint40(first + count);
        cursor.proven = cursor.delivered;
        _appendBatch(cursor, leaves, newRoot, proof, first, prover);
    }

    /// @inheritdoc ISibylLog
    function prove(uint256[] calldata leaves, uint256 newRoot, uint256[8] calldata proof) external {
        Cursor memory cursor = _cursor;
        uint256 first = cursor.proven;
        uint256 count = leaves.length;
        uint256 pending = cursor.delivered - first;
        if (count == 0 || count > pending) revert NotPendingLeaves(first, count, pending);
        bytes32 chain = _chainAt(cursor, first);
        for (uint256 i; i < count; ++i) chain = _extend(chain, leaves[i]);
        // Only a delivery's end holds a checkpoint; anywhere else the stored word is another position's.
        if (chain != _checkpoints[(first + count) % CHECKPOINTS]) revert PendingLeavesMismatch(first, count);
        cursor.proven = uint40(first + count);
        _appendBatch(cursor, leaves, newRoot, proof, first, msg.sender);
    }

    /// @inheritdoc ISibylLog
    function prepareCheckpoints(uint256 from, uint256 to) external {
        if (to > CHECKPOINTS) to = CHECKPOINTS;
        _prepareCheckpoints(from, to);
    }

    // ─── Owner ─────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISibylLog
    function setVerifier(uint256 batchSize, address verifier) external onlyOwner {
        if (batchSize == 0 || batchSize > TREE_CAPACITY || batchSize & (batchSize - 1) != 0) {
            revert InvalidBatchSize(batchSize);
        }
        if (verifier != address(0)) {
            uint256 verifierBatchSize = IBatchVerifier(verifier).batchSize();
            if (verifierBatchSize != batchSize)
                revert VerifierBatchSizeMismatch(batchSize, verifierBatchSize);
        }
        verifierFor[batchSize] = IBatchVerifier(verifier);
        uint40 bit = uint40(1 << _log2Ceil(batchSize));
        uint40 bits = _cursor.batchSizeBits;
        _cursor.batchSizeBits = verifier != address(0) ? bits | bit : bits & ~bit;
        emit VerifierSet(batchSize, verifier);
    }

    // ─── Views ─────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISibylLog
    function nextIndex() external view returns (uint64) {
        return _cursor.nextIndex;
    }

    /// @inheritdoc ISibylLog
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

    /// @inheritdoc ISibylLog
    function batchSizes() external view returns (uint256[] memory sizes) {
        uint256 bits = _cursor.batchSizeBits;
        uint256 count;
        for (uint256 rest = bits; rest != 0; rest &= rest - 1) ++count;
        sizes = new uint256[](count);
        uint256 found;
        for (uint256 k; bits >> k != 0; ++k) {
            if ((bits >> k) & 1 == 1) sizes[found++] = 1 << k;
        }
    }

    /// @inheritdoc ISibylLog
    function largestBatchSize() external view returns (uint256) {
        return _largestBatchSize(_cursor.batchSizeBits);
    }

    // ─── Internals ─────────────────────────────────────────────────────────────────────────────────

    /// @dev Checks the proof that `leaves` (padded with empty leaves to the smallest verifier's batch
    /// size that fits) move the root to `newRoot`, and stores `cursor` with the tree grown by the batch.
    function _appendBatch(
        Cursor memory cursor,
        uint256[] calldata leaves,
        uint256 newRoot,
        uint256[8] calldata proof,
        uint256 first,
        address prover
    ) private {
        uint256 count = leaves.length;
        (uint256 batchSize, IBatchVerifier verifier) = _verifierFitting(cursor.batchSizeBits, count);
        uint256 startIndex = ((uint256(cursor.nextIndex) + batchSize - 1) / batchSize) * batchSize;
        if (startIndex + batchSize > TREE_CAPACITY) revert TreeFull(startIndex, batchSize);
        if (newRoot >= SibylEncoding.SNARK_SCALAR_FIELD) revert RootOutOfField(newRoot);
        uint256[] memory signals = new uint256[](batchSize + 3);
        uint256 oldRoot = root;
        signals[0] = oldRoot;
        signals[1] = newRoot;
        signals[2] = startIndex;
        for (uint256 i; i < count; ++i) signals[3 + i] = leaves[i];
        if (!verifier.verifyBatch(proof, signals))
            revert InvalidProof(oldRoot, newRoot, startIndex, batchSize);
        root = newRoot;
        cursor.nextIndex = uint40(startIndex + batchSize);
        _cursor = cursor;
        emit BatchAppended(prover, oldRoot, newRoot, startIndex, batchSize, count, first);
    }

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

    function _extend(bytes32 chain, uint256 leaf) private pure returns (bytes32 next) {
        assembly ("memory-safe") {
            mstore(0x00, chain)
            mstore(0x20, leaf)
            next := keccak256(0x00, 0x40)
        }
    }

    function _verifierFitting(uint256 bits, uint256 count) private view returns (uint256, IBatchVerifier) {
        if (count != 0) {
            for (uint256 k = _log2Ceil(count); bits >> k != 0; ++k) {
                if ((bits >> k) & 1 == 1) return (1 << k, verifierFor[1 << k]);
            }
        }
        revert UnsupportedBatchSize(count);
    }

    /// @dev The largest batch size with a verifier: no delivery may be larger, so a proof can always
    /// reach the end of the queue's first delivery.
    function _largestBatchSize(uint256 bits) private pure returns (uint256 size) {
        for (uint256 k; bits >> k != 0; ++k) if ((bits >> k) & 1 == 1) size = 1 << k;
    }

    /// @dev The least k with 2^k >= value.
    function _log2Ceil(uint256 value) private pure returns (uint256 k) {
        while ((1 << k) < value) ++k;
    }
}
