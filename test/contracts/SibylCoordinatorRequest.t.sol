// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {Model, RequestCommitment} from "../../contracts/interfaces/SibylTypes.sol";
import {CoordinatorFixture} from "./utils/CoordinatorFixture.sol";
import {Vm} from "./utils/Vm.sol";

contract SibylCoordinatorRequestTest is CoordinatorFixture {
    function test_estimateFee_isModelFeePlusGasAtBaseFeeOrFloor() public {
        vm.fee(0);
        assertEq(
            coordinator.estimateFee(MODEL_ID, 100_000),
            MODEL_FEE + (100_000 + uint256(OVERHEAD_GAS)) * MIN_GAS_PRICE,
            "floor"
        );
        vm.fee(30 gwei);
        assertEq(
            coordinator.estimateFee(MODEL_ID, 0),
            MODEL_FEE + uint256(OVERHEAD_GAS) * 30 gwei,
            "base fee"
        );
    }

    function test_estimateFee_unknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.UnknownModel.selector, bytes32("nope")));
        coordinator.estimateFee("nope", 0);
    }

    function test_request_storesCommitmentAndEmitsFullData() public {
        uint256 idBefore = coordinator.nextRequestId();
        vm.recordLogs();
        RequestCommitment memory commitment = _request(requester, "hello", 50_000);
        assertEq(commitment.requestId, idBefore, "sequential id");
        assertEq(coordinator.nextRequestId(), idBefore + 1, "next id");
        assertEq(
            coordinator.commitmentOf(commitment.requestId),
            keccak256(abi.encode(commitment)),
            "stored hash"
        );

        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "one event");
        assertEq(logs[0].topics[0], ISibylCoordinator.InferenceRequested.selector, "event");
        assertEq(uint256(logs[0].topics[1]), commitment.requestId, "indexed id");
        assertEq(logs[0].topics[2], MODEL_ID, "indexed model");
        assertEq(address(uint160(uint256(logs[0].topics[3]))), requester, "indexed requester");
        (RequestCommitment memory emitted, bytes memory input) = abi.decode(
            logs[0].data,
            (RequestCommitment, bytes)
        );
        assertEq(keccak256(abi.encode(emitted)), keccak256(abi.encode(commitment)), "emitted commitment");
        assertEq(input, "hello", "emitted input");
    }

    function test_request_creditsOverpayment() public {
        uint256 fee = coordinator.estimateFee(MODEL_ID, 0);
        vm.prank(requester);
        coordinator.request{value: fee + 123}(MODEL_ID, "hi", 0);
        assertEq(coordinator.balanceOf(requester), 123, "excess credited");
        assertEq(address(coordinator).balance, fee + 123 + MIN_STAKE, "all ether held");
    }

    function test_request_unknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.UnknownModel.selector, bytes32("nope")));
        vm.prank(requester);
        coordinator.request{value: 1 ether}("nope", "hi", 0);
    }

    function test_request_disabledModel() public {
        Model memory model = _model();
        model.enabled = false;
        coordinator.updateModel(MODEL_ID, model);
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.ModelDisabled.selector, MODEL_ID));
        vm.prank(requester);
        coordinator.request{value: 1 ether}(MODEL_ID, "hi", 0);
    }

    function test_request_emptyInput() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.EmptyInput.selector, MODEL_ID));
        vm.prank(requester);
        coordinator.request{value: 1 ether}(MODEL_ID, "", 0);
    }

    function test_request_inputTooLarge() public {
        bytes memory input = new bytes(MAX_INPUT + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.InputTooLarge.selector,
                MODEL_ID,
                MAX_INPUT + 1,
                MAX_INPUT
            )
        );
        vm.prank(requester);
        coordinator.request{value: 1 ether}(MODEL_ID, input, 0);
    }

    function test_request_callbackGasAboveCap() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.CallbackGasLimitTooHigh.selector,
                MAX_CALLBACK_GAS + 1,
                MAX_CALLBACK_GAS
            )
        );
        vm.prank(requester);
        coordinator.request{value: 1 ether}(MODEL_ID, "hi", MAX_CALLBACK_GAS + 1);
    }

    function test_request_underpaid() public {
        uint256 fee = coordinator.estimateFee(MODEL_ID, 0);
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.InsufficientPayment.selector, fee - 1, fee));
        vm.prank(requester);
        coordinator.request{value: fee - 1}(MODEL_ID, "hi", 0);
    }

    function test_request_paused() public {
        coordinator.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(requester);
        coordinator.request{value: 1 ether}(MODEL_ID, "hi", 0);
        coordinator.unpause();
        _request(requester, "hi", 0);
    }

    function test_cancel_refundsAfterDeadlineToRequesterWhoeverCalls() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        vm.warp(commitment.deadline + 1);
        vm.prank(address(0xBEEF));
        coordinator.cancel(commitment);
        assertEq(coordinator.balanceOf(requester), commitment.fee, "full refund to requester");
        assertEq(coordinator.balanceOf(address(0xBEEF)), 0, "nothing to the caller");
        assertEq(coordinator.commitmentOf(commitment.requestId), bytes32(0), "retired");
    }

    function test_cancel_worksWhilePaused() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        coordinator.pause();
        vm.warp(commitment.deadline + 1);
        coordinator.cancel(commitment);
        assertEq(coordinator.balanceOf(requester), commitment.fee, "refund while paused");
    }

    function test_cancel_beforeDeadline() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        vm.warp(commitment.deadline);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.RequestNotExpired.selector,
                commitment.requestId,
                commitment.deadline
            )
        );
        coordinator.cancel(commitment);
    }

    function test_cancel_twice() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        vm.warp(commitment.deadline + 1);
        coordinator.cancel(commitment);
        vm.expectRevert(
            abi.encodeWithSelector(ISibylCoordinator.RequestNotPending.selector, commitment.requestId)
        );
        coordinator.cancel(commitment);
    }

    function test_cancel_tamperedCommitment() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        vm.warp(commitment.deadline + 1);
        commitment.fee += 1;
        vm.expectRevert(
            abi.encodeWithSelector(ISibylCoordinator.CommitmentMismatch.selector, commitment.requestId)
        );
        coordinator.cancel(commitment);
    }
}
