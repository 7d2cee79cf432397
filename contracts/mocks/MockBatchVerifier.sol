// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IBatchVerifier} from "../interfaces/IBatchVerifier.sol";

/// @title MockBatchVerifier
/// @notice Test stand-in for a Groth16 verifier, for Solidity tests that cannot run the prover. A
/// "proof" is valid when its first word is keccak256(abi.encode(publicSignals)) and the rest are zero,
/// so, like a real proof, it binds exactly one statement: roots, start index and every leaf.
contract MockBatchVerifier is IBatchVerifier {
    /// @inheritdoc IBatchVerifier
    uint256 public immutable batchSize;

    constructor(uint256 batchSize_) {
        batchSize = batchSize_;
    }

    /// @notice The only proof this verifier accepts for `publicSignals`.
    function proofFor(uint256[] memory publicSignals) public pure returns (uint256[8] memory proof) {
        proof[0] = uint256(keccak256(abi.encode(publicSignals)));
    }

    /// @inheritdoc IBatchVerifier
    function verifyBatch(
        uint256[8] calldata proof,
        uint256[] calldata publicSignals
    ) external view returns (bool) {
        if (publicSignals.length != batchSize + 3)
            revert PublicSignalCountMismatch(batchSize + 3, publicSignals.length);
        uint256[8] memory expected = proofFor(publicSignals);
        return keccak256(abi.encode(proof)) == keccak256(abi.encode(expected));
    }
}
