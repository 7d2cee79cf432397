// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SibylConsumer} from "../consumer/SibylConsumer.sol";
import {ISibylLog} from "../interfaces/ISibylLog.sol";
import {ResultStatus} from "../interfaces/SibylTypes.sol";

/// @title PromptBoard
/// @notice A public board of questions put to one model, each answered onchain.
contract PromptBoard is SibylConsumer {
    struct Entry {
        address asker;
        bool answered;
        ResultStatus status;
        string question;
        bytes answer;
    }

    event QuestionAsked(uint256 indexed requestId, address indexed asker, string question);
    event QuestionAnswered(uint256 indexed requestId, ResultStatus status, bytes answer);

    /// @notice The model every question goes to.
    bytes32 public immutable modelId;
    /// @notice Gas each answer is delivered with; enough to store an answer of the model's size.
    uint32 public immutable callbackGasLimit;

    mapping(uint256 requestId => Entry entry) private _entries;

    constructor(ISibylLog log, bytes32 modelId_, uint32 callbackGasLimit_) SibylConsumer(log) {
        modelId = modelId_;
        callbackGasLimit = callbackGasLimit_;
    }

    /// @notice What `ask` should carry if the gas price may reach `gasPrice` before the answer (quote
    /// it off-chain from the base fee with headroom: an eth_call sees block.basefee 0). The rest of it
    /// comes back to the asker.
    function askFee(uint256 gasPrice) external view returns (uint256) {
        return sibylCoordinator().estimateFee(modelId, callbackGasLimit, gasPrice);
    }

    /// @notice Puts `question` to the model. All of msg.value is the request's escrow: what the answer
    /// does not cost is credited to the asker in the coordinator (withdraw it there).
    /// @dev An entry left unanswered gets one of two endings. No result by the request's deadline:
    /// anyone may cancel it, and the asker, never the caller or this board, is credited the whole
    /// escrow. A result whose callback failed (e.g. an answer too long to store with callbackGasLimit):
    /// the answer is in the coordinator's log and its ResultDelivered event, the asker paid for that
    /// delivery and is credited the rest; the entry stays unanswered, as nothing is delivered twice.
    function ask(string calldata question) external payable returns (uint256 requestId) {
        requestId = _requestSibyl(modelId, bytes(question), callbackGasLimit, msg.value, msg.sender);
        _entries[requestId] = Entry({
            asker: msg.sender,
            answered: false,
            status: ResultStatus.Ok,
            question: question,
            answer: ""
        });
        emit QuestionAsked(requestId, msg.sender, question);
    }

    function entryOf(uint256 requestId) external view returns (Entry memory) {
        return _entries[requestId];
    }

    function _onSibylResult(uint256 requestId, ResultStatus status, bytes calldata output) internal override {
        Entry storage entry = _entries[requestId];
        entry.answered = true;
        entry.status = status;
        entry.answer = output;
        emit QuestionAnswered(requestId, status, output);
    }
}
