// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IBatchVerifier
/// @notice Checks a Groth16 proof of BatchAppend(depth 32, batchSize): appending `batchSize` leaves as
/// one aligned subtree at `startIndex` turns `oldRoot` into `newRoot`.
/// @dev Public signals, in this order: oldRoot, newRoot, startIndex, leaves[batchSize].
/// Proof words: a.x, a.y, b.x (imaginary, real), b.y (imaginary, real), c.x, c.y.
interface IBatchVerifier {
    /// @notice The public signal count does not match this verifier's batch size.
    error PublicSignalCountMismatch(uint256 expected, uint256 actual);

    /// @notice The number of leaves this verifier's circuit appends.
    function batchSize() external view returns (uint256);

    /// @notice True when `proof` is valid for `publicSignals`; reverts only on a wrong signal count.
    function verifyBatch(
        uint256[8] calldata proof,
        uint256[] calldata publicSignals
    ) external view returns (bool);
}
