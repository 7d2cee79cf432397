// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title SibylEncoding
/// @notice The result log's encoding, mirrored from src/shared/encoding.ts (a test checks they agree).
library SibylEncoding {
    /// @notice Depth of the result log: 2^32 leaves.
    uint256 internal constant TREE_DEPTH = 32;

    /// @notice Root of the empty depth-32 Poseidon tree (zeroRoot(32) in src/shared/merkle.ts).
    uint256 internal constant EMPTY_ROOT = 0x2f68a1c58e257e42a17a6c61dff5551ed560b9922ab119d5ac8e184c9734ead9;

    /// @notice Order of the BN254 scalar field.
    uint256 internal constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice Maps a 32-byte hash into the field by dropping its low byte: 248 bits are below p.
    function toField(bytes32 hash) internal pure returns (uint256) {
        return uint256(hash) >> 8;
    }

    /// @notice The leaf of one result, bound to the operator that delivered it.
    function leafOf(
        uint256 requestId,
        bytes32 modelId,
        bytes32 inputHash,
        bytes32 outputHash,
        bytes32 metadataHash,
        uint8 status,
        address operator
    ) internal pure returns (uint256) {
        return
            toField(
                keccak256(
                    abi.encode(requestId, modelId, inputHash, outputHash, metadataHash, status, operator)
                )
            );
    }
}
