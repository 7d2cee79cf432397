// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IBatchVerifier} from "./IBatchVerifier.sol";

/// @title ISibylLog
/// @notice The result log, which outlives every coordinator version: a Poseidon Merkle tree (depth 32)
/// whose root moves only by a verified Groth16 BatchAppend proof, a bounded queue of delivered leaves
/// waiting for their proof, and the list of coordinators allowed to append. It is also the one place
/// that names the current coordinator: consumers and nodes ask it.
/// @dev Every appended leaf gets the next sequence number, across all coordinator versions; leaves enter
/// the tree in sequence order, each batch as an aligned subtree.
interface ISibylLog {
    /// @notice Only a coordinator the owner authorized (and has not revoked) may append.
    error NotCoordinator(address caller);
    /// @notice The address is not a coordinator built for this log (no code, or its log() is another).
    error InvalidCoordinator(address coordinator);
    /// @notice The current coordinator cannot be revoked; authorize its successor first.
    error CurrentCoordinator(address coordinator);
    /// @notice A batch must carry between 1 and the largest verifier's batch size leaves.
    error UnsupportedBatchSize(uint256 count);
    /// @notice The batch would not fit in the 2^32 leaves of the log.
    error TreeFull(uint256 startIndex, uint256 batchSize);
    /// @notice The new root is not a field element.
    error RootOutOfField(uint256 newRoot);
    /// @notice The proof does not show that the batch turns the current root into `newRoot`.
    error InvalidProof(uint256 oldRoot, uint256 newRoot, uint256 startIndex, uint256 batchSize);
    /// @notice A verifier's own batch size differs from the slot it is set for.
    error VerifierBatchSizeMismatch(uint256 batchSize, uint256 verifierBatchSize);
    /// @notice Batch sizes must be powers of two from 1 to 2^32.
    error InvalidBatchSize(uint256 batchSize);
    /// @notice A proven append cannot go ahead of delivered, unproven leaves; prove those first.
    error UnprovenLeavesPending(uint256 proven, uint256 delivered);
    /// @notice The queue of unproven leaves is full: prove some before delivering more.
    error TooManyPendingLeaves(uint256 pending, uint256 count, uint256 maxPending);
    /// @notice prove needs between 1 and all of the pending leaves.
    error NotPendingLeaves(uint256 firstSequence, uint256 count, uint256 pending);
    /// @notice The leaves are not the next pending ones, or do not end where a delivery ended.
    error PendingLeavesMismatch(uint256 firstSequence, uint256 count);

    /// @notice `coordinator` may append from now on and is the one new requests go to; `previous` may
    /// still append (to finish its pending requests) until revoked.
    event CoordinatorAuthorized(address indexed coordinator, address indexed previous);
    /// @notice `coordinator` may no longer append.
    event CoordinatorRevoked(address indexed coordinator);
    event VerifierSet(uint256 indexed batchSize, address verifier);
    /// @notice The log's root moved from `oldRoot` to `newRoot` by a subtree of `batchSize` leaves at
    /// `startIndex`, of which the first `count` are the results of sequence `firstSequence` onwards, in
    /// order, and the rest empty. `prover` sent the proof.
    event BatchAppended(
        address indexed prover,
        uint256 oldRoot,
        uint256 newRoot,
        uint256 startIndex,
        uint256 batchSize,
        uint256 count,
        uint256 firstSequence
    );

    /// @notice The coordinator new requests go to. Consumers request through it and accept callbacks
    /// from any coordinator isCoordinator says may append.
    function coordinator() external view returns (address);

    /// @notice Whether `account` may append: the current coordinator, or an earlier one not yet revoked.
    function isCoordinator(address account) external view returns (bool);

    /// @notice Every coordinator ever authorized, oldest first (readers find each version's events there).
    function coordinators() external view returns (address[] memory);

    /// @notice Makes `coordinator` current (the previous one retires: it takes no new requests, and
    /// may append until revoked). Owner only.
    function authorizeCoordinator(address coordinator) external;

    /// @notice Stops an earlier coordinator from appending, once its requests are all settled. Owner only.
    function revokeCoordinator(address coordinator) external;

    /// @notice Queues delivered leaves for a later proof; returns the sequence of the first.
    function appendDelivered(uint256[] calldata leaves) external returns (uint256 firstSequence);

    /// @notice Appends leaves proven at once (nothing may be pending); returns the sequence of the first.
    function appendProven(
        uint256[] calldata leaves,
        uint256 newRoot,
        uint256[8] calldata proof,
        address prover
    ) external returns (uint256 firstSequence);

    /// @notice Proves that the next `leaves.length` pending leaves move the root to `newRoot`. Anyone
    /// may call (the leaves are in the coordinators' ResultDelivered events); it pays nothing: the
    /// delivering operators were paid for the proof's gas.
    /// @dev `leaves` must be the queue's first leaves up to where some delivery ended.
    function prove(uint256[] calldata leaves, uint256 newRoot, uint256[8] calldata proof) external;

    /// @notice Pays now for the storage the pending queue's checkpoints will use, slots `from` to `to`
    /// (at most the ring's 1024), so no delivery pays 22.1k for a fresh slot. Anyone may call.
    function prepareCheckpoints(uint256 from, uint256 to) external;

    /// @notice Sets the verifier for `batchSize`; address zero removes that batch size. Owner only.
    function setVerifier(uint256 batchSize, address verifier) external;

    /// @notice The verifier used for batches of `batchSize`.
    function verifierFor(uint256 batchSize) external view returns (IBatchVerifier);

    /// @notice The current root of the result log.
    function root() external view returns (uint256);

    /// @notice The first slot never written; the next batch starts at the next multiple of its size.
    function nextIndex() external view returns (uint64);

    /// @notice The queue of delivered, unproven results: sequences proven .. delivered - 1, and the
    /// hash chain at each end (see SibylLog).
    function pendingLog()
        external
        view
        returns (uint256 proven, uint256 delivered, bytes32 head, bytes32 tail);

    /// @notice The batch sizes with a verifier, smallest first.
    function batchSizes() external view returns (uint256[] memory);

    /// @notice The largest batch size with a verifier: no delivery may carry more results.
    function largestBatchSize() external view returns (uint256);
}
