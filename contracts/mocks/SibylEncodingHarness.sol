// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ResultStatus} from "../interfaces/SibylTypes.sol";
import {SibylEncoding} from "../libraries/SibylEncoding.sol";

/// @title SibylEncodingHarness
/// @notice Exposes SibylEncoding so tests can check it against src/shared/encoding.ts.
contract SibylEncodingHarness {
    function toField(bytes32 hash) external pure returns (uint256) {
        return SibylEncoding.toField(hash);
    }

    function leafOf(
        uint256 requestId,
        bytes32 modelId,
        bytes32 inputHash,
        bytes32 outputHash,
        bytes32 metadataHash,
        uint8 status,
        address operator
    ) external pure returns (uint256) {
        return
            SibylEncoding.leafOf(requestId, modelId, inputHash, outputHash, metadataHash, status, operator);
    }

    function emptyRoot() external pure returns (uint256) {
        return SibylEncoding.EMPTY_ROOT;
    }

    function treeDepth() external pure returns (uint256) {
        return SibylEncoding.TREE_DEPTH;
    }

    function fieldOrder() external pure returns (uint256) {
        return SibylEncoding.SNARK_SCALAR_FIELD;
    }

    function maxStatus() external pure returns (uint8) {
        return uint8(type(ResultStatus).max);
    }
}
