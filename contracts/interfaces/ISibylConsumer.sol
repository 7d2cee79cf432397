// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ResultStatus} from "./SibylTypes.sol";

/// @title ISibylConsumer
/// @notice What a contract implements to receive Sibyl results.
interface ISibylConsumer {
    /// @notice Called by the coordinator with exactly the callback gas the request asked for.
    /// @dev A revert or out-of-gas is recorded as a failed callback; the result stands either way.
    /// For status other than Ok, `output` is a short reason from the operator.
    function onSibylResult(uint256 requestId, ResultStatus status, bytes calldata output) external;
}
