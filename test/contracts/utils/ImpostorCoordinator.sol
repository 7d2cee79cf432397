// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOperatorLedger} from "../../../contracts/interfaces/IOperatorLedger.sol";
import {ISibylLog} from "../../../contracts/interfaces/ISibylLog.sol";

/// @notice A contract that claims to be a coordinator of `log` (it answers log(), request ids and
/// retire like one) without being authorized, and forwards appends and penalties to the log and the
/// ledger as a coordinator would.
contract ImpostorCoordinator {
    ISibylLog public immutable log;
    IOperatorLedger public immutable ledger;
    uint256 public constant firstRequestId = 1;
    uint256 public constant nextRequestId = 1;

    constructor(ISibylLog log_, IOperatorLedger ledger_) {
        log = log_;
        ledger = ledger_;
    }

    function retire(address) external {}

    function appendDelivered(uint256[] calldata leaves) external returns (uint256) {
        return log.appendDelivered(leaves);
    }

    function appendProven(
        uint256[] calldata leaves,
        uint256 newRoot,
        uint256[8] calldata proof
    ) external returns (uint256) {
        return log.appendProven(leaves, newRoot, proof, address(this));
    }

    function penalize(address operator, uint256 requestId) external returns (uint256) {
        return ledger.penalize(operator, requestId);
    }
}
