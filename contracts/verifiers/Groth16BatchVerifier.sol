// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IBatchVerifier} from "../interfaces/IBatchVerifier.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

/// @title Groth16BatchVerifier
/// @notice Adapts one generated BatchAppendVerifier<N> (fixed-size arguments) to IBatchVerifier.
/// @dev Hand-written, unlike its neighbours. The generated verifier takes
/// (uint256[2], uint256[2][2], uint256[2], uint256[batchSize + 3]); static arrays are encoded inline,
/// so its calldata is the selector followed by the proof words and the signals, 32 bytes each.
contract Groth16BatchVerifier is IBatchVerifier {
    /// @notice The generated verifier this adapter calls.
    address public immutable verifier;
    /// @inheritdoc IBatchVerifier
    uint256 public immutable batchSize;
    bytes4 private immutable _verifyProofSelector;

    constructor(address verifier_, uint256 batchSize_) {
        verifier = verifier_;
        batchSize = batchSize_;
        _verifyProofSelector = bytes4(
            keccak256(
                bytes(
                    string.concat(
                        "verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[",
                        Strings.toString(batchSize_ + 3),
                        "])"
                    )
                )
            )
        );
    }

    /// @inheritdoc IBatchVerifier
    function verifyBatch(
        uint256[8] calldata proof,
        uint256[] calldata publicSignals
    ) external view returns (bool) {
        if (publicSignals.length != batchSize + 3) {
            revert PublicSignalCountMismatch(batchSize + 3, publicSignals.length);
        }
        (bool success, bytes memory result) = verifier.staticcall(
            abi.encodePacked(_verifyProofSelector, proof, publicSignals)
        );
        return success && result.length == 32 && abi.decode(result, (bool));
    }
}
